-- The schema leakpatrol 0.1.0 created on sqlite (SQLModel.metadata.create_all, schema v1),
-- captured from that code and frozen: tests/store/legacy.py builds pre-Alembic databases from it.

CREATE TABLE lp_meta (
	"key" VARCHAR NOT NULL,
	value VARCHAR NOT NULL,
	PRIMARY KEY ("key")
);

CREATE TABLE lp_token (
	id INTEGER NOT NULL,
	fingerprint VARCHAR(64) NOT NULL,
	rule VARCHAR NOT NULL,
	severity VARCHAR NOT NULL,
	redacted VARCHAR NOT NULL,
	value_enc BLOB NOT NULL,
	status VARCHAR NOT NULL,
	status_reason VARCHAR NOT NULL,
	first_seen_at DATETIME NOT NULL,
	first_published_at DATETIME,
	verified_at DATETIME,
	revoked_at DATETIME,
	next_check_at DATETIME,
	check_attempts INTEGER NOT NULL,
	sightings INTEGER NOT NULL,
	PRIMARY KEY (id)
);

CREATE INDEX ix_lp_token_rule ON lp_token (rule);

CREATE INDEX ix_lp_token_next_check_at ON lp_token (next_check_at);

CREATE UNIQUE INDEX ix_lp_token_fingerprint ON lp_token (fingerprint);

CREATE INDEX ix_lp_token_status ON lp_token (status);

CREATE TABLE lp_source_state (
	name VARCHAR NOT NULL,
	cursor JSON NOT NULL,
	next_poll_at DATETIME,
	last_poll_at DATETIME,
	last_success_at DATETIME,
	last_error_at DATETIME,
	last_error VARCHAR NOT NULL,
	failing_since DATETIME,
	lease_owner VARCHAR,
	lease_until DATETIME,
	PRIMARY KEY (name)
);

CREATE TABLE lp_notifier_state (
	notifier VARCHAR NOT NULL,
	disabled_at DATETIME,
	reason VARCHAR NOT NULL,
	PRIMARY KEY (notifier)
);

CREATE TABLE lp_sighting (
	id INTEGER NOT NULL,
	token_id INTEGER NOT NULL,
	source VARCHAR NOT NULL,
	url TEXT NOT NULL,
	path VARCHAR NOT NULL,
	line INTEGER NOT NULL,
	published_at DATETIME,
	found_at DATETIME NOT NULL,
	place VARCHAR NOT NULL,
	meta JSON NOT NULL,
	PRIMARY KEY (id),
	CONSTRAINT uq_sighting_place UNIQUE (token_id, source, url, path, line),
	FOREIGN KEY(token_id) REFERENCES lp_token (id)
);

CREATE INDEX ix_lp_sighting_source ON lp_sighting (source);

CREATE INDEX ix_lp_sighting_token_id ON lp_sighting (token_id);

CREATE INDEX ix_lp_sighting_found_at ON lp_sighting (found_at);

CREATE TABLE lp_verification (
	id INTEGER NOT NULL,
	token_id INTEGER NOT NULL,
	verifier VARCHAR NOT NULL,
	status VARCHAR NOT NULL,
	reason VARCHAR NOT NULL,
	at DATETIME NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(token_id) REFERENCES lp_token (id)
);

CREATE INDEX ix_lp_verification_token_id ON lp_verification (token_id);

CREATE TABLE lp_delivery (
	id INTEGER NOT NULL,
	webhook_id VARCHAR NOT NULL,
	token_id INTEGER,
	notifier VARCHAR NOT NULL,
	event_type VARCHAR NOT NULL,
	payload JSON,
	status VARCHAR NOT NULL,
	attempts INTEGER NOT NULL,
	created_at DATETIME NOT NULL,
	next_attempt_at DATETIME,
	last_attempt_at DATETIME,
	delivered_at DATETIME,
	last_error VARCHAR NOT NULL,
	last_status INTEGER,
	claimed_by VARCHAR,
	claimed_until DATETIME,
	PRIMARY KEY (id),
	CONSTRAINT uq_delivery_webhook_id UNIQUE (webhook_id),
	FOREIGN KEY(token_id) REFERENCES lp_token (id)
);

CREATE INDEX ix_lp_delivery_token_id ON lp_delivery (token_id);

CREATE INDEX ix_lp_delivery_next_attempt_at ON lp_delivery (next_attempt_at);

CREATE INDEX ix_lp_delivery_notifier ON lp_delivery (notifier);

CREATE INDEX ix_lp_delivery_status ON lp_delivery (status);
