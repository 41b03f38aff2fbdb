// IntakeImport
