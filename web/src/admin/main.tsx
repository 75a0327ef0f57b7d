import { render } from "preact";
import { AdminApp } from "./app.js";
import "../style.css";
import "./admin.css";

render(<AdminApp />, document.getElementById("app") as HTMLElement);
