// IntakeValidate
