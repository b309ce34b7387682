CREATE TABLE `namespace_shards` (
	`namespace_id` integer PRIMARY KEY NOT NULL,
	`shard` integer NOT NULL,
	`state` text DEFAULT 'active' NOT NULL,
	`assigned_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	`move_shard` integer,
	`move_cursor` integer,
	`state_at` integer
);
--> statement-breakpoint
CREATE INDEX `namespace_shards_shard_idx` ON `namespace_shards` (`shard`);--> statement-breakpoint
CREATE INDEX `namespace_shards_moves_idx` ON `namespace_shards` (`state`) WHERE state <> 'active';