import { createRequire } from 'node:module';
import kafkajs, { type CompressionTypes } from 'kafkajs';
import type { KafkaCompression } from '../config/types.js';

/** The codecs `kafka.compression` accepts. kafkajs itself implements only gzip. */
export const KAFKA_COMPRESSIONS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

/** A codec whose package cannot be loaded: reported as a configuration problem. */
export class CodecUnavailableError extends Error {
  override readonly name = 'CodecUnavailableError';
}

interface Codec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

// kafkajs is CommonJS: these two are not visible as named ES exports.
const { CompressionCodecs, CompressionTypes: Types } = kafkajs;

/** kafkajs' code for an uncompressed produce request. */
export const NO_COMPRESSION: CompressionTypes = Types.None;

const KAFKAJS_TYPE: Record<KafkaCompression, CompressionTypes> = {
  none: Types.None,
  gzip: Types.GZIP,
  snappy: Types.Snappy,
  lz4: Types.LZ4,
  zstd: Types.ZSTD,
};

const require = createRequire(import.meta.url);
const registered = new Set<KafkaCompression>();

const PACKAGES: Partial<Record<KafkaCompression, string>> = { snappy: 'kafkajs-snappy', lz4: 'lz4js', zstd: '@bokuweb/zstd-wasm' };

/** Why `compression` cannot be used on this installation (its package is missing), or null. */
export function compressionProblem(compression: KafkaCompression): string | null {
  const name = PACKAGES[compression];
  if (name === undefined) return null;
  try {
    require.resolve(name);
    return null;
  } catch {
    return `${compression} needs the npm package ${name}, which is not installed`;
  }
}

/**
 * Makes `compression` usable by kafkajs (registers its codec, once per process) and returns the
 * kafkajs compression type to put on produce requests. Throws CodecUnavailableError when the codec's
 * package cannot be loaded.
 */
export async function prepareCompression(compression: KafkaCompression): Promise<CompressionTypes> {
  const type = KAFKAJS_TYPE[compression];
  if (compression === 'none' || compression === 'gzip') return type;
  // kafkajs' own entries for these throw "not implemented": replace them once.
  const registry = CompressionCodecs as unknown as Record<number, () => Codec>;
  if (!registered.has(compression)) {
    const codec = await loadCodec(compression);
    registry[type] = () => codec;
    registered.add(compression);
  }
  return type;
}

async function loadCodec(compression: 'snappy' | 'lz4' | 'zstd'): Promise<Codec> {
  try {
    if (compression === 'snappy') {
      const factory = require('kafkajs-snappy') as () => Codec;
      return factory();
    }
    if (compression === 'lz4') return lz4Codec();
    return await zstdCodec();
  } catch (error) {
    throw new CodecUnavailableError(`kafka.compression: ${compression} codec cannot be loaded: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * LZ4 in the frame format Kafka reads: independent blocks (Kafka refuses dependent ones), 64 KiB
 * maximum block size, no content checksum. The block compressor comes from lz4js (pure JavaScript).
 */
function lz4Codec(): Codec {
  const lz4 = require('lz4js') as typeof import('lz4js');
  const xxh32 = require('lz4js/xxh32.js') as typeof import('lz4js/xxh32.js');
  const BLOCK = 64 * 1024;
  const hashTable = new Uint32Array(1 << 16);
  const scratch = Buffer.allocUnsafe(lz4.compressBound(BLOCK));
  return {
    async compress({ buffer }) {
      const blocks = Math.max(1, Math.ceil(buffer.length / BLOCK));
      const out = Buffer.allocUnsafe(7 + blocks * (4 + lz4.compressBound(BLOCK)) + 4);
      out.writeUInt32LE(0x184d2204, 0); // magic
      out[4] = 0x60; // version 01, block independence
      out[5] = 4 << 4; // block maximum size 64 KiB
      out[6] = (xxh32.hash(0, out, 4, 2) >> 8) & 0xff; // header checksum
      let at = 7;
      for (let start = 0; start < buffer.length; start += BLOCK) {
        const length = Math.min(BLOCK, buffer.length - start);
        hashTable.fill(0);
        const size = lz4.compressBlock(buffer, scratch, start, length, hashTable);
        // A block that does not shrink is stored as it is (high bit of the size set).
        if (size > 0 && size < length) {
          scratch.copy(out, at + 4, 0, size);
          out.writeUInt32LE(size, at);
          at += 4 + size;
        } else {
          out.writeUInt32LE((length | 0x80000000) >>> 0, at);
          buffer.copy(out, at + 4, start, start + length);
          at += 4 + length;
        }
      }
      out.writeUInt32LE(0, at); // end mark
      return out.subarray(0, at + 4);
    },
    async decompress(buffer) {
      return Buffer.from(lz4.decompress(buffer));
    },
  };
}

async function zstdCodec(): Promise<Codec> {
  const zstd = require('@bokuweb/zstd-wasm') as {
    init(): Promise<void>;
    compress(buffer: Uint8Array, level?: number): Uint8Array;
    decompress(buffer: Uint8Array): Uint8Array;
  };
  await zstd.init();
  return {
    async compress({ buffer }) {
      return Buffer.from(zstd.compress(buffer, 3));
    },
    async decompress(buffer) {
      return Buffer.from(zstd.decompress(buffer));
    },
  };
}
