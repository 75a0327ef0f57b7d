require ["body", "fileinto"];
if body :content "text/html" :contains "<b>Sale</b>" { fileinto "Html"; }
if body :content "application" :contains "PDF" { fileinto "Pdf"; }
if body :content "text/plain" :matches "*€*" { fileinto "Euro"; }
