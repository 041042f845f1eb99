CREATE TABLE `device_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`device_id` text NOT NULL,
	`main_hash` text NOT NULL,
	`short_hash` text NOT NULL,
	`issued_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`revoked_at` integer,
	FOREIGN KEY (`device_id`) REFERENCES `devices`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `device_tokens_main_hash_unique` ON `device_tokens` (`main_hash`);--> statement-breakpoint
CREATE UNIQUE INDEX `device_tokens_short_hash_unique` ON `device_tokens` (`short_hash`);--> statement-breakpoint
CREATE INDEX `device_tokens_device_idx` ON `device_tokens` (`device_id`);--> statement-breakpoint
CREATE TABLE `devices` (
	`id` text PRIMARY KEY NOT NULL,
	`fingerprint` text NOT NULL,
	`label` text,
	`status` text NOT NULL,
	`first_seen` integer NOT NULL,
	`last_seen` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `devices_fingerprint_unique` ON `devices` (`fingerprint`);