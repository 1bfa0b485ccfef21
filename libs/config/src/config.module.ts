import { DynamicModule, Global, Module } from '@nestjs/common';
import { AppConfig, loadConfig, LoadConfigOptions } from './app-config';

/** Provides the validated AppConfig everywhere; validation runs once, when the module is built. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(options: LoadConfigOptions = {}): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: AppConfig, useFactory: () => loadConfig(options) }],
      exports: [AppConfig],
    };
  }

  /** For tests and tools that already hold a config. */
  static withConfig(config: AppConfig): DynamicModule {
    return { module: ConfigModule, providers: [{ provide: AppConfig, useValue: config }], exports: [AppConfig] };
  }
}
