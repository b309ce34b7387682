CREATE TABLE `oauth_applications` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`organization_id` integer NOT NULL,
	`client_id` text NOT NULL,
	`sealed_client_secret` text NOT NULL,
	`name` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`application_uri` text DEFAULT '' NOT NULL,
	`redirect_uri` text DEFAULT '' NOT NULL,
	`avatar_email` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`organization_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `oauth_applications_client_id_unique` ON `oauth_applications` (`client_id`);--> statement-breakpoint
CREATE INDEX `oauth_applications_org_idx` ON `oauth_applications` (`organization_id`);--> statement-breakpoint
CREATE TABLE `repository_permissions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`repository_id` integer NOT NULL,
	`user_id` integer,
	`team_id` integer,
	`role` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`repository_id`) REFERENCES `repositories`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`team_id`) REFERENCES `teams`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `repository_permissions_user_unique` ON `repository_permissions` (`repository_id`,`user_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `repository_permissions_team_unique` ON `repository_permissions` (`repository_id`,`team_id`);--> statement-breakpoint
CREATE INDEX `repository_permissions_user_idx` ON `repository_permissions` (`user_id`);--> statement-breakpoint
CREATE INDEX `repository_permissions_team_idx` ON `repository_permissions` (`team_id`);--> statement-breakpoint
CREATE TABLE `robot_accounts` (
	`user_id` integer PRIMARY KEY NOT NULL,
	`namespace_id` integer NOT NULL,
	`shortname` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`unstructured_metadata` text,
	`token_hash` text NOT NULL,
	`sealed_token` text NOT NULL,
	`last_accessed_at` integer,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`namespace_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `robot_accounts_namespace_shortname_unique` ON `robot_accounts` (`namespace_id`,`shortname`);--> statement-breakpoint
CREATE UNIQUE INDEX `robot_accounts_token_hash_unique` ON `robot_accounts` (`token_hash`);--> statement-breakpoint
CREATE TABLE `robot_federations` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`robot_id` integer NOT NULL,
	`issuer` text NOT NULL,
	`subject` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`robot_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `robot_federations_entry_unique` ON `robot_federations` (`robot_id`,`issuer`,`subject`);