/**
 * The families this project models in full (the "main" families): UNIX, INET, INET6,
 * NETLINK, PACKET, VSOCK, XDP. The modular ones are in modular.ts.
 */
import type { NetProtoFamily } from '../family';
import { inetFamily } from './ipv4/af_inet';
import { inet6Family } from './ipv6/af_inet6';
import { netlinkFamily } from './netlink/af_netlink';
import { packetFamily } from './packet/af_packet';
import { unixFamily } from './unix/af_unix';
import { vsockFamily } from './vmw_vsock/af_vsock';
import { xdpFamily } from './xdp/xsk';

export const coreFamilies: NetProtoFamily[] = [
  unixFamily, inetFamily, inet6Family, netlinkFamily, packetFamily, vsockFamily, xdpFamily,
];
