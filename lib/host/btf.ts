/**
 * The kernel's BTF (/sys/kernel/btf/vmlinux), read only as far as needed to name BPF attach
 * points: type id <-> name. The format is include/uapi/linux/btf.h: a header, then the type
 * section (each `struct btf_type` followed by kind-specific data), then the string section.
 */
import * as fs from 'fs';

export const BTF_KIND_FUNC = 12;

/** Bytes that follow a struct btf_type, by kind (include/uapi/linux/btf.h). */
function extraBytes(kind: number, vlen: number): number {
  switch (kind) {
    case 1: return 4; // INT
    case 3: return 12; // ARRAY
    case 4: case 5: return vlen * 12; // STRUCT, UNION: btf_member
    case 6: return vlen * 8; // ENUM
    case 13: return vlen * 8; // FUNC_PROTO: btf_param
    case 14: return 4; // VAR
    case 15: return vlen * 12; // DATASEC
    case 17: return 4; // DECL_TAG
    case 19: return vlen * 12; // ENUM64
    case 2: case 7: case 8: case 9: case 10: case 11: case 12: case 16: case 18: return 0;
    default: throw new Error(`BTF kind ${kind} is unknown to this reader`);
  }
}

export interface BtfIndex {
  /** Name of type `id` ("" for anonymous), or undefined when there is no such id. */
  nameOf(id: number): string | undefined;
  kindOf(id: number): number | undefined;
  /** The id of the FUNC named `name`, or undefined. */
  funcId(name: string): number | undefined;
}

export function parseBtf(buf: Buffer): BtfIndex {
  if (buf.length < 24 || buf.readUInt16LE(0) !== 0xeb9f) throw new Error('not BTF (magic 0xeB9F missing, or not little-endian)');
  const hdrLen = buf.readUInt32LE(4);
  const typeOff = hdrLen + buf.readUInt32LE(8);
  const typeLen = buf.readUInt32LE(12);
  const strOff = hdrLen + buf.readUInt32LE(16);
  const strLen = buf.readUInt32LE(20);
  if (typeOff + typeLen > buf.length || strOff + strLen > buf.length) throw new Error('BTF sections run past the end of the file');
  const nameOffs: number[] = [0];
  const kinds: number[] = [0];
  let p = typeOff;
  const end = typeOff + typeLen;
  while (p < end) {
    const nameOff = buf.readUInt32LE(p);
    const info = buf.readUInt32LE(p + 4);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    nameOffs.push(nameOff);
    kinds.push(kind);
    p += 12 + extraBytes(kind, vlen);
  }
  const str = (off: number): string => {
    const s = strOff + off;
    const z = buf.indexOf(0, s);
    return buf.toString('latin1', s, z < 0 ? strOff + strLen : z);
  };
  let funcs: Map<string, number> | null = null;
  return {
    nameOf: (id) => (id >= 1 && id < nameOffs.length ? str(nameOffs[id]) : undefined),
    kindOf: (id) => (id >= 1 && id < kinds.length ? kinds[id] : undefined),
    funcId: (name) => {
      if (!funcs) {
        funcs = new Map();
        for (let i = 1; i < kinds.length; i++) if (kinds[i] === BTF_KIND_FUNC) funcs.set(str(nameOffs[i]), i);
      }
      return funcs.get(name);
    },
  };
}

let vmlinux: BtfIndex | null | undefined;
/** /sys/kernel/btf/vmlinux, parsed once; null when absent (CONFIG_DEBUG_INFO_BTF unset, sysfs missing). */
export function vmlinuxBtf(): BtfIndex | null {
  if (vmlinux !== undefined) return vmlinux;
  try {
    vmlinux = parseBtf(fs.readFileSync('/sys/kernel/btf/vmlinux'));
  } catch {
    vmlinux = null;
  }
  return vmlinux;
}
