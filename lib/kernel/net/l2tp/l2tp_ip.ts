/**
 * net/l2tp/l2tp_ip.c, l2tp_ip6.c: L2TPv3 over IP, {SOCK_DGRAM, IPPROTO_L2TP = 115}. Built
 * when CONFIG_L2TP_IP (a bool) is set, as part of CONFIG_L2TP's build (y, or the modules
 * l2tp_ip / l2tp_ip6). ->init (l2tp_ip_open) adds the socket to l2tp's own table only: no
 * /proc/net file, no /proc/net/protocols count at create.
 */
import type { InetProtosw } from '../ipv4/protosw';

const base = { type: 2, protocol: 115, permanent: false, procNet: null, inuseAtCreate: false, configSym: 'CONFIG_L2TP' } as const;

export const l2tpIpProtosw: InetProtosw = {
  ...base, protoName: 'L2TP/IP', module: 'l2tp_ip', requires: ['CONFIG_L2TP_IP'], initFn: 'l2tp_ip_open', source: 'net/l2tp/l2tp_ip.c',
};
export const l2tpIp6Protosw: InetProtosw = {
  ...base, protoName: 'L2TP/IPv6', module: 'l2tp_ip6', requires: ['CONFIG_L2TP_IP', 'CONFIG_IPV6'], initFn: 'l2tp_ip6_open', source: 'net/l2tp/l2tp_ip6.c',
};
