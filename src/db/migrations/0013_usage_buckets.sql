CREATE TABLE `usage_buckets` (
	`resolution` text NOT NULL,
	`start` integer NOT NULL,
	`series` text NOT NULL,
	`outcome` text NOT NULL,
	`reason` text NOT NULL,
	`count` integer NOT NULL,
	PRIMARY KEY(`resolution`, `series`, `outcome`, `reason`, `start`)
);
--> statement-breakpoint
CREATE INDEX `usage_buckets_series_idx` ON `usage_buckets` (`resolution`,`series`,`start`);--> statement-breakpoint
CREATE INDEX `usage_buckets_start_idx` ON `usage_buckets` (`resolution`,`start`);