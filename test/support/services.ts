// Where the integration tiers find the real services. Overridable for a developer's own setup.
export const TEST_POSTGRES_URL =
  process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
export const TEST_KAFKA_BROKERS = (process.env.TEST_KAFKA_BROKERS ?? "127.0.0.1:9092").split(",");

export function testServiceAddresses(): { name: string; host: string; port: number }[] {
  const pg = new URL(TEST_POSTGRES_URL);
  const redis = new URL(TEST_REDIS_URL);
  const [kafkaHost, kafkaPort] = TEST_KAFKA_BROKERS[0]!.split(":");
  return [
    { name: "PostgreSQL", host: pg.hostname, port: Number(pg.port || 5432) },
    { name: "Redis", host: redis.hostname, port: Number(redis.port || 6379) },
    { name: "Kafka", host: kafkaHost!, port: Number(kafkaPort ?? 9092) },
  ];
}
