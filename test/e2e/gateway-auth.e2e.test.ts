// The gateway over TCP with real clients: python3 imaplib (child process) and imapflow.
// LOGIN and AUTHENTICATE PLAIN, STARTTLS with a self-signed certificate made by openssl,
// clear-text LOGIN refused, implicit TLS on the IMAPS port.
import { spawnSync } from "node:child_process";
import { ImapFlow } from "imapflow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/imap-gateway/logger.ts";
import { createImapServer, type ImapServer } from "../../src/imap-gateway/server.ts";
import {
  generateSelfSignedCertificate,
  type TestCertificate,
} from "../../src/imap-gateway/testing/certificate.ts";
import { RawImapClient } from "../../src/imap-gateway/testing/rawClient.ts";
import { TEST_USER, testAuthenticator } from "../../src/imap-gateway/testing/testUsers.ts";

let certificate: TestCertificate;
let server: ImapServer;
let port: number;
let tlsPort: number;

beforeAll(async () => {
  certificate = generateSelfSignedCertificate();
  server = createImapServer({
    port: 0,
    tlsPort: 0,
    tls: { cert: certificate.cert, key: certificate.key },
    allowInsecureAuth: false,
    authenticator: testAuthenticator(),
    logger: silentLogger,
    limits: { failedLoginBaseDelayMs: 10, failedLoginMaxDelayMs: 20, maxFailedLoginsPerAddress: 1000 },
  });
  ({ port, tlsPort = 0 } = await server.listen());
});

afterAll(async () => {
  await server?.close();
  certificate?.remove();
});

// Each step prints one JSON line; the test asserts on what imaplib saw.
const IMAPLIB_SCRIPT = String.raw`
import imaplib, json, ssl, sys
port, tls_port, cafile, user, password = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
ctx = ssl.create_default_context(cafile=cafile)
def step(name, fn):
    try:
        print(json.dumps({"step": name, "ok": True, "result": fn()}))
    except Exception as e:
        print(json.dumps({"step": name, "ok": False, "error": str(e)}))
    sys.stdout.flush()

def cleartext_login():
    c = imaplib.IMAP4("127.0.0.1", port)
    caps = list(c.capabilities)
    try:
        c.login(user, password)
        return {"caps": caps, "login": "accepted"}
    except imaplib.IMAP4.error as e:
        return {"caps": caps, "login": str(e)}
    finally:
        c.shutdown()
step("cleartext", cleartext_login)

def starttls_login():
    c = imaplib.IMAP4("127.0.0.1", port)
    c.starttls(ssl_context=ctx)
    caps = list(c.capabilities)
    typ, data = c.login(user, password)
    noop = c.noop()[0]
    c.logout()
    return {"caps": caps, "login": typ, "noop": noop}
step("starttls", starttls_login)

def starttls_wrong():
    c = imaplib.IMAP4("127.0.0.1", port)
    c.starttls(ssl_context=ctx)
    try:
        c.login(user, "wrong password")
        return "accepted"
    finally:
        c.shutdown()
step("starttls_wrong", starttls_wrong)

def imaps_plain():
    c = imaplib.IMAP4_SSL("127.0.0.1", tls_port, ssl_context=ctx)
    typ, data = c.authenticate("PLAIN", lambda _: ("\0%s\0%s" % (user, password)).encode())
    c.logout()
    return typ
step("imaps_plain", imaps_plain)

def imaps_plain_wrong():
    c = imaplib.IMAP4_SSL("127.0.0.1", tls_port, ssl_context=ctx)
    try:
        c.authenticate("PLAIN", lambda _: ("\0%s\0nope" % user).encode())
        return "accepted"
    finally:
        c.shutdown()
step("imaps_plain_wrong", imaps_plain_wrong)
`;

type Step = { step: string; ok: boolean; result?: unknown; error?: string };

describe("python3 imaplib", () => {
  it("is refused in clear text, logs in after STARTTLS and on IMAPS, fails with a wrong password", async () => {
    const certPath = `${certificate.dir}/cert.pem`;
    // spawnSync would block the event loop the server runs on: use an async child.
    const { spawn } = await import("node:child_process");
    const child = spawn("python3", [
      "-c",
      IMAPLIB_SCRIPT,
      String(port),
      String(tlsPort),
      certPath,
      TEST_USER.username,
      TEST_USER.password,
    ]);
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const code = await new Promise((resolve) => child.on("close", resolve));
    expect(err).toBe("");
    expect(code).toBe(0);
    const steps = Object.fromEntries(
      out
        .trim()
        .split("\n")
        .map((line) => {
          const step = JSON.parse(line) as Step;
          return [step.step, step];
        }),
    );
    const cleartext = steps.cleartext!.result as { caps: string[]; login: string };
    expect(cleartext.caps).toEqual(expect.arrayContaining(["STARTTLS", "LOGINDISABLED"]));
    expect(cleartext.caps).not.toContain("AUTH=PLAIN");
    expect(cleartext.login).toMatch(/PRIVACYREQUIRED/);
    expect(steps.starttls).toMatchObject({ ok: true, result: { login: "OK", noop: "OK" } });
    const afterTls = (steps.starttls!.result as { caps: string[] }).caps;
    expect(afterTls).toContain("AUTH=PLAIN");
    expect(afterTls).not.toContain("STARTTLS");
    expect(afterTls).not.toContain("LOGINDISABLED");
    expect(steps.starttls_wrong).toMatchObject({ ok: false });
    expect(steps.starttls_wrong?.error).toMatch(/AUTHENTICATIONFAILED/);
    expect(steps.imaps_plain).toMatchObject({ ok: true, result: "OK" });
    expect(steps.imaps_plain_wrong?.error).toMatch(/AUTHENTICATIONFAILED/);
  }, 60_000);

  it("python3 has imaplib", () => {
    expect(spawnSync("python3", ["-c", "import imaplib"]).status).toBe(0);
  });
});

describe("STARTTLS after authentication", () => {
  it("is no longer advertised once the session has logged in in clear text (RFC 3501 6.2.1)", async () => {
    const insecure = createImapServer({
      port: 0,
      tls: { cert: certificate.cert, key: certificate.key },
      allowInsecureAuth: true,
      authenticator: testAuthenticator(),
      logger: silentLogger,
    });
    const { port: insecurePort } = await insecure.listen();
    const raw = await RawImapClient.connect(insecurePort);
    try {
      expect(await raw.greeting()).toMatch(/\bSTARTTLS\b/);
      const login = await raw.command("a", `LOGIN ${TEST_USER.username} "${TEST_USER.password}"`);
      expect(login.at(-1)).toMatch(/^a OK \[CAPABILITY IMAP4rev1 /);
      expect(login.at(-1)).not.toMatch(/\bSTARTTLS\b/);
      const capability = await raw.command("b", "CAPABILITY");
      expect(capability[0]).toMatch(/^\* CAPABILITY IMAP4rev1 /);
      expect(capability[0]).not.toMatch(/\bSTARTTLS\b/);
      expect((await raw.command("c", "STARTTLS")).at(-1)).toMatch(/^c BAD /);
    } finally {
      raw.close();
      await insecure.close();
    }
  });
});

describe("imapflow", () => {
  const client = (options: { secure: boolean; pass: string; loginMethod?: string }) =>
    new ImapFlow({
      host: "127.0.0.1",
      port: options.secure ? tlsPort : port,
      secure: options.secure,
      doSTARTTLS: options.secure ? undefined : true,
      tls: { ca: certificate.cert, servername: "localhost" },
      auth: {
        user: TEST_USER.username,
        pass: options.pass,
        ...(options.loginMethod ? { loginMethod: options.loginMethod } : {}),
      },
      logger: false,
      verifyOnly: true,
    });

  it("authenticates with AUTHENTICATE PLAIN after STARTTLS", async () => {
    const flow = client({ secure: false, pass: TEST_USER.password });
    await flow.connect();
    expect(flow.authenticated).toBeTruthy();
    await flow.logout().catch(() => {});
  });

  it("authenticates with LOGIN on the IMAPS port", async () => {
    const flow = client({ secure: true, pass: TEST_USER.password, loginMethod: "LOGIN" });
    await flow.connect();
    expect(flow.authenticated).toBeTruthy();
    await flow.logout().catch(() => {});
  });

  it("fails with a wrong password", async () => {
    const flow = client({ secure: true, pass: "wrong" });
    await expect(flow.connect()).rejects.toMatchObject({ authenticationFailed: true });
    flow.close();
  });
});

describe("STARTTLS on the wire", () => {
  it("discards commands pipelined after STARTTLS in clear text", async () => {
    const raw = await RawImapClient.connect(port);
    await raw.greeting();
    const start = raw.lines.length;
    await raw.write(`a STARTTLS\r\nb LOGIN alice "${TEST_USER.password}"\r\n`);
    await raw.waitFor((l) => l.startsWith("a OK"), 5000, start);
    await raw.startTls(certificate.cert);
    const caps = await raw.command("c", "CAPABILITY");
    expect(caps[0]).toContain("AUTH=PLAIN");
    expect(caps.at(-1)).toBe("c OK CAPABILITY completed");
    // b was sent in clear text after STARTTLS: it must not have been executed.
    expect(raw.lines.some((l) => l.startsWith("b "))).toBe(false);
    expect((await raw.command("d", "LOGIN alice wrong-but-safe-now")).at(-1)).toMatch(
      /^d NO \[AUTHENTICATIONFAILED\]/,
    );
    expect((await raw.command("e", "STARTTLS")).at(-1)).toMatch(/^e BAD/);
    raw.close();
  });

  it("closes an HTTP client with BYE (cross-protocol guard)", async () => {
    const raw = await RawImapClient.connect(port);
    await raw.greeting();
    await raw.write("POST /login HTTP/1.1\r\nHost: mail.example\r\n\r\n");
    await raw.whenClosed();
    expect(raw.lines.at(-1)).toMatch(/^\* BYE /);
  });
});
