import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * What the GPU paths need, found without loading tfjs: the WebGPU adapter Dawn offers (the
 * `webgpu` npm package, dawn.node) and the CUDA libraries @tensorflow/tfjs-node-gpu links against.
 * `embody doctor` prints both; backend.ts uses the adapter to decide whether webgpu is auto-selected.
 */

/** The limits tfjs-backend-webgpu asks the device for, plus the buffer sizes that cap batch size. */
const KEY_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
] as const;

export interface WebGpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  /** A CPU implementation (llvmpipe/lavapipe, SwiftShader, a fallback adapter): never auto-selected. */
  software: boolean;
  /** Why `software` is true, in words (empty for a hardware adapter). */
  softwareReason: string;
  limits: Record<(typeof KEY_LIMITS)[number], number>;
  features: string[];
}

/** The subset of the WebGPU API we touch (dawn.node implements the whole of it). */
interface GpuLike {
  requestAdapter(opts?: { powerPreference?: 'high-performance' | 'low-power' }): Promise<AdapterLike | null>;
}
interface AdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
  limits: Record<string, number>;
  features: Iterable<string>;
}

/**
 * Software rasterisers named in adapter info: Mesa's llvmpipe (its Vulkan driver is lavapipe),
 * Google's SwiftShader, Mesa's softpipe, Microsoft's WARP.
 */
const SOFTWARE_NAMES = /llvmpipe|lavapipe|swiftshader|softpipe|microsoft basic render|\bwarp\b/i;

export function softwareAdapterReason(info: Pick<WebGpuAdapterInfo, 'vendor' | 'architecture' | 'device' | 'description' | 'isFallbackAdapter'>): string {
  const named = `${info.vendor} ${info.device} ${info.description}`.match(SOFTWARE_NAMES);
  const reasons = [
    named ? `${named[0]} is a CPU rasteriser` : '',
    info.architecture.toLowerCase() === 'software' ? 'architecture "software"' : '',
    info.isFallbackAdapter ? 'Dawn marks it a fallback adapter' : '',
  ];
  return reasons.filter(Boolean).join(', ');
}

let dawn: { gpu: GpuLike; globals: Record<string, unknown> } | null = null;

/** dawn.node's GPU object, created once per process (a second `create` would start a second Dawn instance). */
export async function dawnGpu(): Promise<{ gpu: GpuLike; globals: Record<string, unknown> }> {
  if (!dawn) {
    const mod = (await import('webgpu' as string)) as { create(flags: string[]): GpuLike; globals: Record<string, unknown> };
    dawn = { gpu: mod.create([]), globals: mod.globals };
  }
  return dawn;
}

/** The adapter Dawn picks for high-performance work, or an error naming why there is none. */
export async function probeWebGpuAdapter(): Promise<WebGpuAdapterInfo> {
  const { gpu } = await dawnGpu();
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('dawn.node found no WebGPU adapter (no Vulkan driver: install mesa-vulkan-drivers >= 23, or the NVIDIA driver)');
  const i = adapter.info ?? {};
  const base = {
    vendor: i.vendor ?? '',
    architecture: i.architecture ?? '',
    device: i.device ?? '',
    description: i.description ?? '',
    isFallbackAdapter: Boolean(i.isFallbackAdapter ?? adapter.isFallbackAdapter),
  };
  const softwareReason = softwareAdapterReason(base);
  const limits = Object.fromEntries(KEY_LIMITS.map((k) => [k, Number(adapter.limits[k])])) as WebGpuAdapterInfo['limits'];
  return { ...base, software: softwareReason !== '', softwareReason, limits, features: [...adapter.features].sort() };
}

/**
 * The shared libraries libtensorflow 2.9 (inside @tensorflow/tfjs-node-gpu 4.x) opens: CUDA 11.2
 * and cuDNN 8.1 sonames. A CUDA 12 install has libcudart.so.12 only, which is why it fails there.
 */
export const TFJS_NODE_GPU_LIBRARIES = [
  'libcuda.so.1',
  'libcudart.so.11.0',
  'libcublas.so.11',
  'libcublasLt.so.11',
  'libcufft.so.10',
  'libcurand.so.10',
  'libcusolver.so.11',
  'libcusparse.so.11',
  'libcudnn.so.8',
] as const;

export interface LibraryProbe {
  name: string;
  /** Where it was found: a path from `ldconfig -p` or an extra directory, "dlopen" when only the loader found it, or null. */
  found: string | null;
}

/** The loader cache as soname → path (empty when ldconfig is missing). */
function ldconfigCache(): Map<string, string> {
  const out = new Map<string, string>();
  for (const bin of ['ldconfig', '/sbin/ldconfig', '/usr/sbin/ldconfig']) {
    try {
      const text = execFileSync(bin, ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      for (const line of text.split('\n')) {
        const m = line.match(/^\s*(\S+)\s.*=>\s*(\S+)/);
        if (m && !out.has(m[1])) out.set(m[1], m[2]);
      }
      return out;
    } catch {
      // try the next location
    }
  }
  return out;
}

/**
 * Whether the dynamic loader can open `name`. process.dlopen loads any shared object; one that is
 * not a Node addon then fails with "did not self-register", which still means it was found.
 */
function loaderFinds(name: string): boolean {
  try {
    process.dlopen({ exports: {} } as NodeJS.Module, name);
    return true;
  } catch (err) {
    return /self-register|not a valid|undefined symbol/i.test(String((err as Error).message));
  }
}

/**
 * Probe each library tfjs-node-gpu needs: the loader cache first, then `extraDirs` (the caller
 * passes LD_LIBRARY_PATH's entries), then the loader itself.
 */
export function probeCudaLibraries(extraDirs: string[] = [], names: readonly string[] = TFJS_NODE_GPU_LIBRARIES): LibraryProbe[] {
  const cache = ldconfigCache();
  return names.map((name) => {
    const cached = cache.get(name);
    if (cached) return { name, found: cached };
    for (const dir of extraDirs) {
      const p = path.join(dir, name);
      if (dir && existsSync(p)) return { name, found: p };
    }
    return { name, found: loaderFinds(name) ? 'dlopen' : null };
  });
}
