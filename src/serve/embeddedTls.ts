// The embedded default speaks TLS out of the box: on first start without TLS_CERT/TLS_KEY it makes
// a self-signed certificate in DATA_DIR/tls (like the snakeoil certificate of a Debian install),
// so STARTTLS works and passwords need not travel in clear text. Operators replace it with their
// own via TLS_CERT and TLS_KEY.
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import selfsigned from "selfsigned";

export interface TlsFiles {
  cert: string;
  key: string;
  /** True when this call made them. */
  created: boolean;
  fingerprint: string | undefined;
}

const VALIDITY_YEARS = 5;

export async function ensureSelfSignedCertificate(dataDir: string, hostname: string): Promise<TlsFiles> {
  const dir = path.resolve(dataDir, "tls");
  const cert = path.join(dir, "cert.pem");
  const key = path.join(dir, "key.pem");
  if (existsSync(cert) && existsSync(key)) return { cert, key, created: false, fingerprint: undefined };
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const notBeforeDate = new Date();
  const notAfterDate = new Date(notBeforeDate);
  notAfterDate.setFullYear(notAfterDate.getFullYear() + VALIDITY_YEARS);
  const pems = await selfsigned.generate([{ name: "commonName", value: hostname }], {
    keySize: 2048,
    algorithm: "sha256",
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 2 as const, value: "localhost" },
          { type: 7 as const, ip: "127.0.0.1" },
          ...(hostname !== "localhost" && hostname !== "127.0.0.1"
            ? [{ type: 2 as const, value: hostname }]
            : []),
        ],
      },
    ],
  });
  await writeFile(key, pems.private, { mode: 0o600 });
  await writeFile(cert, pems.cert, { mode: 0o644 });
  return { cert, key, created: true, fingerprint: pems.fingerprint };
}
