-- Issue #12: single-component repository names are Quay's library names (`foo` is `library/foo`).
-- Rows stored before by a push of `foo` had a namespace cut one character short (`fo`); move them
-- to `library/<name>` under namespace `library`, or, where that name is taken, to
-- `library/<name>-<id>`, so nothing stored is lost and no namespace disagrees with its name.
UPDATE repositories SET name = 'library/' || name, namespace = 'library'
WHERE instr(name, '/') = 0
  AND NOT EXISTS (SELECT 1 FROM repositories AS taken WHERE taken.name = 'library/' || repositories.name);
--> statement-breakpoint
UPDATE repositories SET name = 'library/' || name || '-' || id, namespace = 'library'
WHERE instr(name, '/') = 0;
