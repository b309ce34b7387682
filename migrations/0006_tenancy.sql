CREATE TABLE `permission_prototypes` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`uuid` text NOT NULL,
	`organization_id` integer NOT NULL,
	`activating_user_id` integer,
	`delegate_user_id` integer,
	`delegate_team_id` integer,
	`role` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`organization_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`activating_user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`delegate_user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`delegate_team_id`) REFERENCES `teams`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `permission_prototypes_uuid_unique` ON `permission_prototypes` (`uuid`);--> statement-breakpoint
CREATE INDEX `permission_prototypes_org_idx` ON `permission_prototypes` (`organization_id`);--> statement-breakpoint
CREATE TABLE `repository_stars` (
	`user_id` integer NOT NULL,
	`repository_id` integer NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	PRIMARY KEY(`user_id`, `repository_id`),
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`repository_id`) REFERENCES `repositories`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `repository_stars_repository_idx` ON `repository_stars` (`repository_id`);--> statement-breakpoint
CREATE TABLE `team_invites` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`team_id` integer NOT NULL,
	`user_id` integer,
	`email` text,
	`inviter_id` integer,
	`code_hash` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`team_id`) REFERENCES `teams`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`inviter_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `team_invites_code_unique` ON `team_invites` (`code_hash`);--> statement-breakpoint
CREATE UNIQUE INDEX `team_invites_team_user_unique` ON `team_invites` (`team_id`,`user_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `team_invites_team_email_unique` ON `team_invites` (`team_id`,`email`);--> statement-breakpoint
ALTER TABLE `repositories` ADD `description` text;--> statement-breakpoint
ALTER TABLE `repositories` ADD `kind` text DEFAULT 'image' NOT NULL;--> statement-breakpoint
ALTER TABLE `users` ADD `tag_expiration_s` integer DEFAULT 1209600 NOT NULL;--> statement-breakpoint
ALTER TABLE `users` ADD `invoice_email` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `users` ADD `invoice_email_address` text;--> statement-breakpoint
ALTER TABLE `users` ADD `deleting_since` integer;