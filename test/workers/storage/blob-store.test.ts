/** The BlobStore contract (blob-store-contract.ts) against R2 in workerd and against the in-memory store. */
import { env } from "cloudflare:workers";
import { MemoryBlobStore } from "../../../src/storage/memory-blob-store";
import { R2BlobStore } from "../../../src/storage/r2-blob-store";
import { blobStoreContract } from "./blob-store-contract";

// Read segments of 16 MiB, so that the contract's 20 MiB objects cross one.
blobStoreContract("R2BlobStore over workerd's R2", () => new R2BlobStore(env.BLOBS, 16 * 1024 * 1024));
blobStoreContract("MemoryBlobStore", () => new MemoryBlobStore());
