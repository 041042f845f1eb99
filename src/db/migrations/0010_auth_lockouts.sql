CREATE TABLE `auth_lockouts` (
	`key` text PRIMARY KEY NOT NULL,
	`until` integer NOT NULL,
	`noted_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `auth_lockouts_noted_idx` ON `auth_lockouts` (`noted_at`);--> statement-breakpoint
CREATE INDEX `auth_lockouts_until_idx` ON `auth_lockouts` (`until`);