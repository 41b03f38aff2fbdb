// IntakeReport
