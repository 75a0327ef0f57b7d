require ["body", "fileinto"];
if body :text :contains "café" { fileinto "Cafe"; }
if body :contains "prize" { fileinto "Prize"; }
if body :text :contains "Quarterly" { fileinto "Embedded"; }
