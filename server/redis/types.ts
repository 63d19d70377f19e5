/** How to reach a Redis: ioredis connection options (unix socket or TCP). */
export interface RedisEndpoint {
  path?: string;
  host?: string;
  port?: number;
  password?: string;
  username?: string;
  db?: number;
  tls?: Record<string, never>;
}
