/** What `GET /v1/status` answers. */
export interface StatusReport {
  berth: { version: string; node: string; pid: number; uptimeSeconds: number; home: string };
  redis: ServiceHealth;
  nginx: ServiceHealth & { port: number };
}

export interface ServiceHealth {
  mode: 'embedded' | 'external';
  healthy: boolean;
  version?: string;
  /** Why it is unhealthy, in words. */
  error?: string;
  /** PID of the embedded server. */
  pid?: number;
  /** How often the daemon restarted it after it died. */
  restarts?: number;
}
