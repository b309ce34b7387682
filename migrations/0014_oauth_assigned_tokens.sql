CREATE TABLE `oauth_assigned_tokens` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`uuid` text NOT NULL,
	`application_id` integer NOT NULL,
	`assigned_user_id` integer NOT NULL,
	`redirect_uri` text NOT NULL,
	`scopes` text NOT NULL,
	`response_type` text DEFAULT 'token' NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`application_id`) REFERENCES `oauth_applications`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`assigned_user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `oauth_assigned_tokens_uuid_unique` ON `oauth_assigned_tokens` (`uuid`);--> statement-breakpoint
CREATE INDEX `oauth_assigned_tokens_user_idx` ON `oauth_assigned_tokens` (`assigned_user_id`);