-- The account's storage quota (RFC 9208 STORAGE, event UserQuotaSet): the octets all its
-- messages may take; null for none. APPEND and COPY read it with the account.
ALTER TABLE users ADD COLUMN storage_limit bigint CHECK (storage_limit >= 0);
