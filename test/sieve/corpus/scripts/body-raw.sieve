require ["body", "fileinto"];
if body :raw :contains "=3D" { fileinto "QP"; }
if body :raw :contains "PGh0bWw" { fileinto "Base64"; }
