// IntakeStore
