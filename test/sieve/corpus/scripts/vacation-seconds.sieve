require ["vacation-seconds", "variables"];
if header :matches "subject" "*" { set "s" "${1}"; }
vacation :seconds 7200 :from "bob@example.com" :subject "Re: ${s}" :handle "h1" text:
I am away.
..and this line was dot-stuffed.
.
;
