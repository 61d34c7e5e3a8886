/** AF_QIPCRTR (42): net/qrtr/af_qrtr.c qrtr_create(). The protocol is ignored. */
import { AF, SOCK } from '../../../abi/constants';
import { EPROTOTYPE } from '../../../abi/errno';
import type { NetProtoFamily } from '../../family';
import { skAlloc } from '../modular_common';

export const qrtrFamily: NetProtoFamily = {
  family: AF.AF_QIPCRTR,
  name: 'PF_QIPCRTR',
  createFn: 'qrtr_create',
  source: 'net/qrtr/af_qrtr.c',
  configSym: 'CONFIG_QRTR',
  module: 'qrtr',
  since: '4.7',
  create(ctx, sock) {
    const fn = 'qrtr_create';
    if (sock.type !== SOCK.SOCK_DGRAM) return ctx.fail(fn, `sock->type ${sock.type} != SOCK_DGRAM`, EPROTOTYPE);
    return skAlloc(ctx, sock, { fn, protoName: 'QIPCRTR', protocol: 0 });
  },
};
