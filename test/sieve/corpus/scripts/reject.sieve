require "reject";
if address :is "from" "winner@lottery.example" { reject text:
Your message was refused.
.
; }
