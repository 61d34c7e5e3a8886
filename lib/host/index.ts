/** The host profile: gather it live, load/save it as JSON, show it, and the tables behind it. */
export { gatherHostProfile, deriveFamilies, deriveNetlink, lsmsFromList, filterDeps, releaseAtLeast, fsHostIO } from './gather';
export type { GatherOptions, HostIO, SyscallSource, FamilyInputs, NetlinkInputs } from './gather';
export { saveProfile, loadProfile, parseProfile, ProfileError, SUPPORTED_SCHEMAS } from './profile-io';
export { formatProfile } from './format';
export {
  FAMILY_PROVIDERS, NETLINK_PROVIDERS, SOCKET_ALIAS_PREFIXES, LSM_CONFIG, AF_MAX, familyProvider, familiesOfProtoName,
} from './families';
export type { FamilyProvider, NetlinkProvider } from './families';
export { fnmatch, normalizeAlias, resolveAlias, depClosure, moduleNameFromPath, patternCouldMatchPrefix } from './modalias';
export { profileFromPackage, fullCapMask, packageModulesDir } from './package';
export type { PackageProfileOptions } from './package';
