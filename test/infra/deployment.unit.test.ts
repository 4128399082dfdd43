// The deployment files under infra/ (compose file, systemd units, HAProxy) agree with the
// configuration the server reads (src/config.ts): every variable is one it knows, every value
// passes its checks, every role exists, and the ports line up across the files. No container
// engine or systemd runs here: the files are read, not started.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { assertDistributedServices, CONFIG_VARIABLES, type Config, loadConfig } from "../../src/config.ts";
import { parseRoles, ROLES } from "../../src/serve/serve.ts";
import { parseYamlSubset, type YamlValue } from "../support/yamlSubset.ts";

const INFRA = fileURLToPath(new URL("../../infra/", import.meta.url));
const read = (name: string) => readFileSync(path.join(INFRA, name), "utf8");

type Mapping = { [key: string]: YamlValue };
const asMap = (value: YamlValue | undefined): Mapping =>
  value !== undefined && typeof value === "object" && !Array.isArray(value) ? value : {};
const asList = (value: YamlValue | undefined): YamlValue[] => (Array.isArray(value) ? value : []);

/** KEY=VALUE lines (env files, systemd Environment=), comments and blank lines skipped. */
function envLines(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const cut = trimmed.indexOf("=");
    expect(cut, `"${trimmed}" is KEY=VALUE`).toBeGreaterThan(0);
    env[trimmed.slice(0, cut)] = trimmed.slice(cut + 1);
  }
  return env;
}

/** The variables a process gets, checked as the server checks them at start. */
function checkedConfig(where: string, env: Record<string, string>, command: readonly string[]): Config {
  for (const name of Object.keys(env)) {
    expect(CONFIG_VARIABLES, `${where}: ${name} is a setting mailledger reads`).toContain(name);
  }
  const config = loadConfig(env);
  if (command[0] === "serve") {
    expect(command.slice(1, 2), `${where}: serve --role`).toEqual(["--role"]);
    expect(parseRoles(command[2])).toHaveLength(1);
    assertDistributedServices(config);
  } else {
    expect(command, `${where}: a mailledger command`).toEqual(["migrate"]);
  }
  expect(config.mode, `${where}: distributed`).toBe("distributed");
  return config;
}

describe("the configuration schema", () => {
  it("lists exactly the variables loadConfig reads", () => {
    const read = new Set<string>();
    const env = new Proxy({} as Record<string, string | undefined>, {
      get(_, name) {
        if (typeof name === "string") read.add(name);
        return undefined;
      },
    });
    loadConfig(env);
    expect([...read].sort()).toEqual([...CONFIG_VARIABLES].sort());
  });
});

describe("infra/compose.yaml", () => {
  const compose = asMap(parseYamlSubset(read("compose.yaml")));
  const services = asMap(compose.services);
  const mailledger = Object.entries(services).filter(([, service]) => asMap(service).image === "mailledger");
  const shared = envLines(read("mailledger.env"));
  const configs = new Map<string, { config: Config; role: string }>();
  for (const [name, value] of mailledger) {
    const service = asMap(value);
    const command = asList(service.command) as string[];
    const env = { ...shared, ...(asMap(service.environment) as Record<string, string>) };
    configs.set(name, {
      config: checkedConfig(`compose ${name}`, env, command),
      role: command[2] ?? "migrate",
    });
  }

  it("runs every role, two gateways, and the migration before them", () => {
    const roles = [...configs.values()].map(({ role }) => role);
    for (const role of ROLES) expect(roles).toContain(role);
    expect(roles.filter((role) => role === "gateway")).toHaveLength(2);
    for (const [name, { role }] of configs) {
      if (role === "migrate") continue;
      const dependsOn = asMap(asMap(services[name]).depends_on);
      expect(asMap(dependsOn.migrate).condition, name).toBe("service_completed_successfully");
      expect(asMap(services[name]).stop_grace_period, `${name} has time to drain`).toBe("20s");
    }
    for (const [name, value] of mailledger) {
      expect(asList(asMap(value).env_file), name).toEqual(["mailledger.env"]);
    }
  });

  it("points DATABASE_URL, KAFKA_BROKERS and REDIS_URL at the services that listen there", () => {
    const { config } = configs.get("relay")!;
    const database = new URL(config.databaseUrl!);
    const postgres = asMap(asMap(services[database.hostname]).environment);
    expect(database.port).toBe("5432");
    expect([decodeURIComponent(database.username), database.pathname.slice(1)]).toEqual([
      postgres.POSTGRES_USER,
      postgres.POSTGRES_DB,
    ]);
    for (const broker of config.kafkaBrokers) {
      const [host, port] = broker.split(":");
      const kafka = asMap(asMap(services[host!]).environment);
      expect(kafka.KAFKA_ADVERTISED_LISTENERS).toContain(`//${host}:${port}`);
      expect(kafka.KAFKA_PROCESS_ROLES, "KRaft: the broker is its own controller").toBe("broker,controller");
    }
    const redis = new URL(config.redisUrl!);
    expect(services[redis.hostname], "the redis service").toBeDefined();
    expect(redis.port || "6379").toBe("6379");
  });

  it("gives each gateway TLS, an IMAP port HAProxy sends to, and a /readyz HAProxy checks", () => {
    const haproxy = read("haproxy.cfg");
    const checkPort = /default-server check port (\d+)/.exec(haproxy)?.[1];
    for (const [name, { config, role }] of configs) {
      if (role === "migrate") continue;
      expect(config.metricsPort, `${name}: METRICS_PORT`).toBeDefined();
      if (role !== "gateway") continue;
      expect(config.tlsCert, `${name}: STARTTLS needs a certificate`).toBeDefined();
      expect(config.imapHost).toBe("0.0.0.0");
      expect(haproxy).toMatch(new RegExp(`^\\s*server ${name} ${name}:${config.imapPort}$`, "m"));
      expect(String(config.metricsPort)).toBe(checkPort);
      const probe = asList(asMap(asMap(services[name]).healthcheck).test).join(" ");
      expect(probe).toContain(`127.0.0.1:${config.metricsPort}/healthz`);
    }
    expect(haproxy).toMatch(/option httpchk GET \/readyz/);
    expect(asList(asMap(services.haproxy).ports)).toContain("143:143");
    expect(haproxy).toMatch(/^\s*bind :143$/m);
  });
});

describe("infra/systemd", () => {
  const dir = path.join(INFRA, "systemd");
  const units = readdirSync(dir).filter((name) => name.endsWith(".service"));
  const shared = envLines(read("systemd/mailledger.env"));

  it("has one unit per role, each a valid node of the configuration, on ports of its own", () => {
    const roles: string[] = [];
    const ports = new Map<number, string>();
    for (const unit of units) {
      const text = readFileSync(path.join(dir, unit), "utf8");
      const directives = text.split("\n").filter((line) => /^[A-Za-z]+=/.test(line));
      const values = (key: string) =>
        directives.filter((line) => line.startsWith(`${key}=`)).map((line) => line.slice(key.length + 1));
      expect(values("EnvironmentFile"), unit).toEqual(["/etc/mailledger/mailledger.env"]);
      const env = { ...shared, ...envLines(values("Environment").join("\n")) };
      // %H is the host name systemd puts in; any name will do here.
      for (const [key, value] of Object.entries(env)) env[key] = value.replaceAll("%H", "host");
      const [exec] = values("ExecStart");
      const command = exec!.split(" ").slice(2);
      expect(exec).toMatch(/^\/usr\/bin\/node \/opt\/mailledger\/src\/main\.ts serve --role \w+$/);
      const config = checkedConfig(unit, env, command);
      const role = command[2]!;
      roles.push(role);
      expect(unit).toBe(`mailledger-${role}.service`);
      expect(values("KillSignal"), `${unit} drains on SIGTERM`).toEqual(["SIGTERM"]);
      for (const port of [config.metricsPort!, ...(role === "gateway" ? [config.imapPort] : [])]) {
        expect(ports.get(port), `${unit}: port ${port} is free on the host`).toBeUndefined();
        ports.set(port, unit);
      }
    }
    expect(roles.sort()).toEqual([...ROLES].sort());
  });
});
