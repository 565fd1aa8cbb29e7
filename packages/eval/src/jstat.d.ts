/** The part of jstat (it ships no typings) that statistics.ts uses. */
declare module 'jstat' {
  export const jStat: {
    studentt: {
      /** the p-quantile of Student's t with `dof` degrees of freedom */
      inv(p: number, dof: number): number;
    };
  };
}
