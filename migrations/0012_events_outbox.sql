CREATE TABLE `delivered_events` (
	`id` text PRIMARY KEY NOT NULL,
	`delivered_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `delivered_events_delivered_idx` ON `delivered_events` (`delivered_at`);--> statement-breakpoint
CREATE TABLE `event_outbox` (
	`id` text PRIMARY KEY NOT NULL,
	`created_at` integer NOT NULL,
	`body` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `event_outbox_created_idx` ON `event_outbox` (`created_at`);