/**
 * The address families a distribution kernel usually builds as modules. The core imports
 * this list into its family registry; whether a family is registered on a host is decided
 * there from configSym/module (built in, loaded, or loadable through net-pf-N).
 */
import type { NetProtoFamily } from '../family';
import { algFamily } from '../crypto/af_alg';
import { pppoxFamily } from '../drivers/net/ppp/pppox';
import { isdnFamily } from '../drivers/isdn/mISDN/socket';
import { appletalkFamily } from './appletalk/ddp';
import { atmpvcFamily, atmsvcFamily } from './atm/common';
import { ax25Family } from './ax25/af_ax25';
import { bluetoothFamily } from './bluetooth/af_bluetooth';
import { caifFamily } from './caif/caif_socket';
import { canFamily } from './can/af_can';
import { ieee802154Family } from './ieee802154/socket';
import { iucvFamily } from './iucv/af_iucv';
import { kcmFamily } from './kcm/kcmsock';
import { keyFamily } from './key/af_key';
import { llcFamily } from './llc/af_llc';
import { mctpFamily } from './mctp/af_mctp';
import { netromFamily } from './netrom/af_netrom';
import { nfcFamily } from './nfc/af_nfc';
import { phonetFamily } from './phonet/af_phonet';
import { qrtrFamily } from './qrtr/af_qrtr';
import { rdsFamily } from './rds/af_rds';
import { roseFamily } from './rose/af_rose';
import { rxrpcFamily } from './rxrpc/af_rxrpc';
import { smcFamily } from './smc/af_smc';
import { tipcFamily } from './tipc/socket';
import { x25Family } from './x25/af_x25';

/** Ordered by AF_* number. */
export const modularFamilies: NetProtoFamily[] = [
  ax25Family, appletalkFamily, netromFamily, atmpvcFamily, x25Family, roseFamily, keyFamily,
  atmsvcFamily, rdsFamily, pppoxFamily, llcFamily, canFamily, tipcFamily, bluetoothFamily,
  iucvFamily, rxrpcFamily, isdnFamily, phonetFamily, ieee802154Family, caifFamily, algFamily,
  nfcFamily, kcmFamily, qrtrFamily, smcFamily, mctpFamily,
];
