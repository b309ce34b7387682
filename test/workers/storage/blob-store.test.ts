/** The BlobStore contract (blob-store-contract.ts) against R2 in workerd and against the in-memory store. */
import { env } from "cloudflare:workers";
import { MemoryBlobStore } from "../../../src/storage/memory-blob-store";
import { R2BlobStore } from "../../../src/storage/r2-blob-store";
import { blobStoreContract } from "./blob-store-contract";

blobStoreContract("R2BlobStore over workerd's R2", () => new R2BlobStore(env.BLOBS));
blobStoreContract("MemoryBlobStore", () => new MemoryBlobStore());
