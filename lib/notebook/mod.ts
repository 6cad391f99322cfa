/**
 * The study inside notebooks: training an experiment with a live reward plot ({@linkcode runInNotebook}),
 * running every experiment for every seed ({@linkcode runAllExperiments}), the notebook's judge and
 * parameters. The views the notebooks show are built in lib/analysis (`comparisonView`,
 * `runResultsView`); the headless Jupyter client that runs notebooks is lib/jupyter.
 * @module
 */
export * from "./experiment.ts";
