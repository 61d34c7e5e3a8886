/**
 * AF_ATMPVC (8) and AF_ATMSVC (20): net/atm/pvc.c pvc_create(), net/atm/svc.c svc_create(),
 * both ending in net/atm/common.c vcc_create(). Both families live in atm.ko.
 */
import { AF, SOCK } from '../../../abi/constants';
import { EAFNOSUPPORT, EINVAL } from '../../../abi/errno';
import type { CreateCtx, NetProtoFamily, SockUnderConstruction } from '../../family';
import { skAlloc } from '../modular_common';

/** vcc_create(): every type but SOCK_STREAM; the protocol (AAL) is not checked here. */
export function vccCreate(ctx: CreateCtx, sock: SockUnderConstruction): number {
  const fn = 'vcc_create';
  if (sock.type === SOCK.SOCK_STREAM) return ctx.fail(fn, 'SOCK_STREAM is refused', EINVAL);
  return skAlloc(ctx, sock, { fn, protoName: 'VCC', protocol: 0 });
}

function atmFamily(family: number, name: string, createFn: string, source: string): NetProtoFamily {
  return {
    family, name, createFn, source, configSym: 'CONFIG_ATM', module: 'atm',
    create(ctx, sock) {
      if (!ctx.netIsInit(createFn)) return ctx.fail(createFn, 'net != &init_net', EAFNOSUPPORT);
      return vccCreate(ctx, sock);
    },
  };
}

export const atmpvcFamily = atmFamily(AF.AF_ATMPVC, 'PF_ATMPVC', 'pvc_create', 'net/atm/pvc.c');
export const atmsvcFamily = atmFamily(AF.AF_ATMSVC, 'PF_ATMSVC', 'svc_create', 'net/atm/svc.c');
