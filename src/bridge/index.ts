/**
 * rxpeer/bridge: the Unity WebGL bridge. `PeerAdapter` and `PeerClientProvider`
 * under the names app code written for the Extreal package expects, and
 * rxpeer's own implementation of the Web.Common helper contract.
 */
export {
  BRIDGE,
  PeerAdapter,
  parseWebGLPeerConfig,
  type PeerAdapterOptions,
  type PeerClientProvider,
  type WebGLPeerConfigJson,
} from './PeerAdapter.js';
export {
  BRIDGE_REGISTRY_KEY,
  BRIDGE_REGISTRY_VERSION,
  UnityBridgeRuntime,
  addAction,
  addFunction,
  callback,
  defaultUnityBridgeRuntime,
  findUnityBinding,
  installUnityBinding,
  sharedBridgeRegistry,
  webCommonHelper,
  type BridgeRegistry,
  type UnityBinding,
  type UnityBindingFound,
  type UnityBridgeRuntimeOptions,
  type WebCommonAction,
  type WebCommonFunction,
  type WebCommonHelper,
} from './webCommon.js';
export type { PeerClient } from '../client/PeerClient.js';
