CREATE TABLE `robot_api_tokens` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`uuid` text NOT NULL,
	`robot_id` integer NOT NULL,
	`creator_id` integer,
	`name` text NOT NULL,
	`scopes` text NOT NULL,
	`token_hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`last_accessed_at` integer,
	FOREIGN KEY (`robot_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`creator_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `robot_api_tokens_uuid_unique` ON `robot_api_tokens` (`uuid`);--> statement-breakpoint
CREATE UNIQUE INDEX `robot_api_tokens_hash_unique` ON `robot_api_tokens` (`token_hash`);--> statement-breakpoint
CREATE INDEX `robot_api_tokens_robot_idx` ON `robot_api_tokens` (`robot_id`,`expires_at`);