export { Stats, type Percentiles } from "./stats";
export { renderChart, ticks } from "./chart";
export { renderMarkdown } from "./report";
export { summarizeLevel, targetCheck, configurationResult, failureRate, type LevelObservations } from "./summarize";
export { Profiles, profileNamed, UnknownProfile, type Profile } from "./profiles";
export type * from "./results";
export { parseExposition, difference, type Snapshot } from "./scrape";
