// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Globalization;

namespace HyperDbgRemote.FaultRelay;

/// <summary>The relay's command line: the two terminal devices and the faults to inject, each as a rate.</summary>
internal sealed class RelayOptions
{
    public const string Usage =
        """
        usage: fault-relay --a PATH --b PATH [--seed N] [--ber R] [--drop R] [--dup R] [--garbage R] [--stall R --stall-ms MS]
          copies bytes between two terminal devices (e.g. the far ends of two socat pty pairs) both ways, injecting faults:
          --ber R       flip each bit with probability R
          --drop R      drop each byte with probability R
          --dup R       write a chunk twice with probability R
          --garbage R   insert 1-16 random bytes before a chunk with probability R
          --stall R     hold a direction for --stall-ms (default 300) before a chunk with probability R (order is kept)
          --seed N      seed of the faults (each direction its own stream), default 1
        standard input takes commands, each answered "ok COMMAND" on standard output:
          freeze        hold every byte both ways (a frozen relay; released in order by thaw)
          thaw          release what was held and copy again
          cut           discard every byte both ways (a pulled cable)
          plug          copy again
          stats         print a JSON line of counters
          quit          exit
        it prints "ready" once both devices are open.
        """;

    public string A { get; private set; } = string.Empty;

    public string B { get; private set; } = string.Empty;

    public int Seed { get; private set; } = 1;

    public double BitErrorRate { get; private set; }

    public double DropRate { get; private set; }

    public double DuplicateRate { get; private set; }

    public double GarbageRate { get; private set; }

    public double StallRate { get; private set; }

    public int StallMilliseconds { get; private set; } = 300;

    public static RelayOptions Parse(string[] args)
    {
        var o = new RelayOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new FormatException($"{args[i]} needs a value");
            double Rate() => double.TryParse(Next(), NumberStyles.Float, CultureInfo.InvariantCulture, out double r) && r is >= 0 and <= 1
                ? r
                : throw new FormatException($"{args[i - 1]} takes a rate from 0 to 1");
            switch (args[i])
            {
                case "--a":
                    o.A = Next();
                    break;
                case "--b":
                    o.B = Next();
                    break;
                case "--seed":
                    o.Seed = int.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                case "--ber":
                    o.BitErrorRate = Rate();
                    break;
                case "--drop":
                    o.DropRate = Rate();
                    break;
                case "--dup":
                    o.DuplicateRate = Rate();
                    break;
                case "--garbage":
                    o.GarbageRate = Rate();
                    break;
                case "--stall":
                    o.StallRate = Rate();
                    break;
                case "--stall-ms":
                    o.StallMilliseconds = int.Parse(Next(), CultureInfo.InvariantCulture);
                    break;
                default:
                    throw new FormatException($"unknown argument '{args[i]}'");
            }
        }

        if (o.A.Length == 0 || o.B.Length == 0)
        {
            throw new FormatException("--a and --b are required");
        }

        return o;
    }
}
