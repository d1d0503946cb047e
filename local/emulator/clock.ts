/** The emulator keeps simulated time with the same clock the pipeline's code uses. */
export { ScaledClock, type Clock } from '../../lambda/core/clock';
