/**
 * net/vmw_vsock/af_vsock.c: vsock_create().
 *
 *   protocol != 0 && != PF_VSOCK                   -> EPROTONOSUPPORT (before the type)
 *   DGRAM | STREAM | SEQPACKET (5.14+), else       -> ESOCKTNOSUPPORT
 *   __vsock_create: vsk->trusted = CAP_NET_ADMIN in init_user_ns (a check that decides nothing;
 *     ENOMEM not modelled)
 *   DGRAM: vsock_assign_transport(vsk, NULL) needs a registered datagram transport, else
 *   ENODEV (since the multi-transport rework, 5.5). Only the VMCI transport provides one;
 *   virtio, hyperv and loopback do not.
 * No /proc/net file (vsock_diag only); the AF_VSOCK proto's inuse count never moves;
 * sk_protocol is not set (SO_PROTOCOL 0).
 */
import { ENODEV, EPROTONOSUPPORT, ESOCKTNOSUPPORT } from '../../../abi/errno';
import type { CreateCtx, NetProtoFamily, SockUnderConstruction } from '../../family';

const PF_VSOCK = 40;
const NO_DELTA = Object.freeze({});

export function vsockCreate(ctx: CreateCtx, sock: SockUnderConstruction, protocol: number): number {
  const tr = ctx.tracing;
  if (protocol !== 0 && protocol !== PF_VSOCK) {
    return ctx.fail('vsock_create', tr ? `protocol ${protocol} is neither 0 nor PF_VSOCK` : '', EPROTONOSUPPORT);
  }
  const t = sock.type;
  const ok = t === 2 || t === 1 || (t === 5 && ctx.kernelAtLeast('5.14'));
  if (!ok) {
    return ctx.fail('vsock_create', tr ? `type ${t} is not DGRAM, STREAM${ctx.kernelAtLeast('5.14') ? ' or SEQPACKET' : ' (SEQPACKET only from 5.14)'}` : '', ESOCKTNOSUPPORT);
  }
  // __vsock_create: vsk->trusted records whether the creator holds CAP_NET_ADMIN in the initial
  // user namespace (capable() before 5.10, ns_capable_noaudit(&init_user_ns) since); either way
  // cap_capable runs, for every type that got this far, before the transport is assigned.
  ctx.capableQuiet('__vsock_create', 12, 'vsk->trusted');
  if (t === 2 && ctx.kernelAtLeast('5.5')) {
    const dgram = ctx.present('CONFIG_VMWARE_VMCI_VSOCKETS', 'vmw_vsock_vmci_transport');
    if (!dgram) {
      return ctx.fail(
        'vsock_assign_transport',
        tr ? 'SOCK_DGRAM needs a datagram transport (VMCI); none registered' : '',
        ENODEV,
        tr ? { name: 'CONFIG_VMWARE_VMCI_VSOCKETS', value: 'absent or not loaded', source: 'kernel config / modules' } : undefined,
      );
    }
  }
  if (tr) ctx.step({ fn: 'vsock_create', what: '__vsock_create("AF_VSOCK"), vsock_insert_unbound', outcome: 'pass' });
  sock.sk = {
    family: PF_VSOCK,
    type: t,
    protocol: 0,
    protoName: 'AF_VSOCK',
    procNet: null,
    protocolsDelta: NO_DELTA as Record<string, number>,
    sockstatUsedDelta: 1,
  };
  return 0;
}

export const vsockFamily: NetProtoFamily = {
  family: 40,
  name: 'PF_VSOCK',
  createFn: 'vsock_create',
  source: 'net/vmw_vsock/af_vsock.c',
  configSym: 'CONFIG_VSOCKETS',
  module: 'vsock',
  since: '3.9',
  create: vsockCreate,
};
