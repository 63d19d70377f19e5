/**
 * What `berth-runtime network inspect NAME` prints (docs/networking.md): the network's
 * settings, its leases (one per attached container) and its links. Fields the runtime may
 * add later are let through, as the OCI state's are.
 */
import { z } from 'zod';

export const networkLeaseSchema = z.object({
  /** The container holding the address. */
  id: z.string().min(1),
  address: z.string().min(1),
  /** Its app (berth.network.group); empty when it has none. */
  group: z.string(),
  veth: z.string(),
  publish: z.string(),
});
export type NetworkLease = z.infer<typeof networkLeaseSchema>;

export const networkInfoSchema = z.object({
  name: z.string().min(1),
  bridge: z.string(),
  /** The subnet as CIDR: `10.88.0.0/16`. */
  subnet: z.string().min(1),
  gateway: z.string(),
  nat: z.boolean(),
  table: z.string(),
  containers: z.array(networkLeaseSchema),
  /** Pairs of linked apps. */
  links: z.array(z.tuple([z.string(), z.string()])),
});
export type NetworkInfo = z.infer<typeof networkInfoSchema>;

/** A network's settings at `network create`. */
export interface NetworkCreateOptions {
  /** @defaultValue the runtime's choice (the first free 10.N.0.0/16) */
  subnet?: string;
  /** Outbound NAT. @defaultValue true */
  nat?: boolean;
}

/** Where a container is attached: its network and its address there. */
export interface ContainerAddress {
  network: string;
  address: string;
}
