package main

import (
	"fmt"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/facilityd/facilityd/api"
	"github.com/facilityd/facilityd/locale"
	"github.com/facilityd/facilityd/workorders"
)

// defectCommand is `facilityd wo defect`: the register of handover defects in residents'
// homes (入伙后的遗留问题) on a running facilityd.
func defectCommand(client *apiClient) *cobra.Command {
	cmd := &cobra.Command{Use: "defect", Short: "Handover defects in residents' homes: file, log contacts, list for the repair office"}
	var add workorders.DefectRequest
	addCmd := &cobra.Command{
		Use:   "add --home B-U-R --title TEXT --by NAME [--resident WHO] [--contact PHONE] [--note TEXT]",
		Short: "File a defect; who files it owns it until it is solved",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var d workorders.Defect
			if err := client.post(cmd.Context(), "/api/v1/defects", add, &d); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\t%s\t%s\n", d.ID, d.Home, d.Owner, d.Status)
			return nil
		},
	}
	addCmd.Flags().StringVar(&add.Home, "home", "", "building-unit-room, 3-1-1802")
	addCmd.Flags().StringVar(&add.Title, "title", "", "what is wrong")
	addCmd.Flags().StringVar(&add.Resident, "resident", "", "the resident")
	addCmd.Flags().StringVar(&add.Contact, "contact", "", "the resident's phone")
	addCmd.Flags().StringVar(&add.Note, "note", "", "note kept in the log")
	addCmd.Flags().StringVar(&add.By, "by", "", byHelp)

	var u workorders.DefectUpdate
	var status string
	logCmd := &cobra.Command{
		Use:   "log ID --by NAME --note TEXT [--status open|repair_office|solved] [--hand-to NAME]",
		Short: "Log a contact with the resident, a new status, or hand the defect over",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			u.Status = workorders.DefectStatus(status)
			var d workorders.Defect
			if err := client.post(cmd.Context(), "/api/v1/defects/"+url.PathEscape(args[0]), u, &d); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\t%s\t%s\n", d.ID, d.Home, d.Owner, d.Status)
			return nil
		},
	}
	logCmd.Flags().StringVar(&u.By, "by", "", byHelp)
	logCmd.Flags().StringVar(&u.Note, "note", "", "what was done or told to the resident")
	logCmd.Flags().StringVar(&status, "status", "", "open, repair_office or solved")
	logCmd.Flags().StringVar(&u.HandTo, "hand-to", "", "the person who owns it from now on")

	var home string
	var open bool
	listCmd := &cobra.Command{
		Use:   "list [--home B-U-R] [--open]",
		Short: "A home's defects, or every home's",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			if home != "" {
				q.Set("home", home)
			}
			if open {
				q.Set("open", "1")
			}
			var out api.DefectList
			if err := client.get(cmd.Context(), "/api/v1/defects", q, &out); err != nil {
				return err
			}
			w := locale.NewTable(cmd.OutOrStdout())
			defer w.Flush()
			fmt.Fprintln(w, header("defects"))
			for _, d := range out.Defects {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Home, d.Status, d.Owner, d.ReportedAt.Local().Format("2006-01-02"), d.Title)
			}
			return nil
		},
	}
	listCmd.Flags().StringVar(&home, "home", "", "building-unit-room")
	listCmd.Flags().BoolVar(&open, "open", false, "only defects not yet solved")

	meetingCmd := &cobra.Command{
		Use:   "meeting",
		Short: "The open defects, oldest first, for the meeting with the repair office",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out api.MeetingList
			if err := client.get(cmd.Context(), "/api/v1/defects/meeting", nil, &out); err != nil {
				return err
			}
			w := locale.NewTable(cmd.OutOrStdout())
			defer w.Flush()
			fmt.Fprintln(w, header("defect_meeting"))
			for _, it := range out.Items {
				last := ""
				if it.LastContact != nil {
					last = it.LastContact.Note
				}
				fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", it.Defect.ID, it.Defect.Home, it.AgeDays, it.Defect.Status, it.Defect.Owner, it.Defect.Title, last)
			}
			return nil
		},
	}
	cmd.AddCommand(addCmd, logCmd, listCmd, meetingCmd)
	return cmd
}

// surveyCommand is `facilityd wo survey`: the residents' surveys on a running facilityd.
func surveyCommand(client *apiClient) *cobra.Command {
	cmd := &cobra.Command{Use: "survey", Short: "Residents' surveys: the half-yearly opinion survey, the year-end satisfaction survey"}
	var start workorders.SurveyRequest
	var kind string
	startCmd := &cobra.Command{
		Use:   "start --kind opinion|satisfaction --year YYYY [--half 1|2] --by NAME",
		Short: "Start a survey and draw its homes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			start.Kind = workorders.SurveyKind(kind)
			var s workorders.Survey
			if err := client.post(cmd.Context(), "/api/v1/surveys", start, &s); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s\n", s.ID)
			for _, h := range s.Sample {
				fmt.Fprintln(out, h)
			}
			return nil
		},
	}
	startCmd.Flags().StringVar(&kind, "kind", "", "opinion (half-yearly) or satisfaction (year-end)")
	startCmd.Flags().IntVar(&start.Year, "year", 0, "the survey's year")
	startCmd.Flags().IntVar(&start.Half, "half", 0, "1 or 2, for an opinion survey")
	startCmd.Flags().StringVar(&start.By, "by", "", byHelp)

	var a workorders.SurveyAnswer
	var satisfied string
	answerCmd := &cobra.Command{
		Use:   "answer ID --home B-U-R --by NAME [--satisfied yes|no] [--opinion TEXT]",
		Short: "Record a home's answer",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch satisfied {
			case "":
			case "yes", "true", "no", "false":
				v := satisfied == "yes" || satisfied == "true"
				a.Satisfied = &v
			default:
				return fmt.Errorf("--satisfied %q: say yes or no", satisfied)
			}
			var s workorders.Survey
			if err := client.post(cmd.Context(), "/api/v1/surveys/"+url.PathEscape(args[0])+"/answers", a, &s); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\t%d/%d\n", s.ID, len(s.Answers), len(s.Sample))
			return nil
		},
	}
	answerCmd.Flags().StringVar(&a.Home, "home", "", "building-unit-room of the sample")
	answerCmd.Flags().StringVar(&a.By, "by", "", byHelp)
	answerCmd.Flags().StringVar(&satisfied, "satisfied", "", "yes or no")
	answerCmd.Flags().StringVar(&a.Opinion, "opinion", "", "the resident's opinion, in their words")

	summaryCmd := &cobra.Command{
		Use:   "summary YYYY",
		Short: "The year's surveys and the owners' overall satisfaction against the plans' 80%",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := strconv.Atoi(args[0]); err != nil {
				return fmt.Errorf("year %q: give it as 2026", args[0])
			}
			var s workorders.YearSummary
			if err := client.get(cmd.Context(), "/api/v1/surveys/summary", url.Values{"year": {args[0]}}, &s); err != nil {
				return err
			}
			lang := cliLang()
			out := cmd.OutOrStdout()
			verdict := lang.T("cli.survey.short")
			if s.Qualifies {
				verdict = lang.T("cli.survey.qualifies")
			}
			if s.Satisfaction != nil {
				fmt.Fprintln(out, lang.T("cli.survey.owners", "year", s.Year, "satisfied", s.Satisfaction.Satisfied, "rated", s.Satisfaction.Rated,
					"share", fmt.Sprintf("%.1f%%", 100*s.OwnersSatisfaction), "target", fmt.Sprintf("%.0f%%", 100*s.OwnersTarget), "verdict", verdict))
			} else {
				fmt.Fprintln(out, lang.T("cli.survey.none", "year", s.Year))
			}
			fmt.Fprintln(out, lang.T("cli.survey.calls", "satisfied", s.CallsSatisfied, "calls", s.Calls))
			for _, o := range s.Opinion {
				fmt.Fprintln(out, lang.T("cli.survey.opinion", "id", o.ID, "answered", o.Answered, "sampled", o.Sampled))
			}
			return nil
		},
	}
	cmd.AddCommand(startCmd, answerCmd, summaryCmd)
	return cmd
}
