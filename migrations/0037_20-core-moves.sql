ALTER TABLE `namespace_shards` ADD `move_core_cursor` text;--> statement-breakpoint
ALTER TABLE `namespace_shards` ADD `move_core_shard` integer;