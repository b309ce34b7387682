CREATE TABLE `proxy_cache_configs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`namespace_id` integer NOT NULL,
	`upstream_registry` text NOT NULL,
	`upstream_username_sealed` text,
	`upstream_password_sealed` text,
	`expiration_s` integer NOT NULL,
	`insecure` integer DEFAULT false NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`namespace_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `proxy_cache_configs_namespace_unique` ON `proxy_cache_configs` (`namespace_id`);