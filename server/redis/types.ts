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

export interface RedisHealth {
  mode: 'embedded' | 'external';
  healthy: boolean;
  version?: string;
  error?: string;
  /** PID of the embedded server. */
  pid?: number;
  restarts?: number;
}
