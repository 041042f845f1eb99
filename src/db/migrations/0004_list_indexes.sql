DROP INDEX `tokens_user_idx`;--> statement-breakpoint
CREATE INDEX `tokens_created_idx` ON `tokens` (`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `tokens_user_idx` ON `tokens` (`user`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `devices_first_seen_idx` ON `devices` (`first_seen`,`id`);--> statement-breakpoint
CREATE INDEX `devices_status_idx` ON `devices` (`status`,`first_seen`,`id`);--> statement-breakpoint
CREATE INDEX `users_created_idx` ON `users` (`created_at`,`username`);